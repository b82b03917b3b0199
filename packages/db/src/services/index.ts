/**
 * Mutations as transactional services: each one checks its target against the caller's project, writes
 * and records its audit event in ONE transaction, so an audit row exists if and only if its change
 * committed. The web's procedures and the trainer both call these.
 */
export * from "./actor";
export * from "./job-service";
export * from "./field-cell-service";
export * from "./label-service";
export * from "./model-service";
export * from "./admin-actor";
export * from "./institution-service";
export * from "./project-service";
export * from "./user-service";
export * from "./project-settings-service";
export * from "./dataset-share-service";
export * from "./reading-service";
export * from "./import-job-service";
export * from "./evaluation-set-service";
export * from "./differential-service";
export * from "./al-round-service";
export * from "./adjudication-service";
