/** `@hemaloop/ml/contracts`: job payloads and trainer reports, importable without tfjs. */
export * from "./job-payloads";
export * from "./job-reports";
export * from "./replay-report";
