export * from "./train-step";
export * from "./lr-schedule";
export * from "./predict-set";
export * from "./step-executor";
export * from "./parallel-executor";
export * from "./train-classifier";
export * from "./artifacts";
export * from "./augment-settings";
