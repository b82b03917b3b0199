// Public surface of @hemaloop/ml. Each area re-exports from its own folder.
export * from "./backend";
export * from "./models";
export * from "./data";
export * from "./train";
export * from "./metrics";
export * from "./uncertainty";
export * from "./lodocv";
export * from "./onnx";
export * from "./active-learning";
export * from "./replay";
