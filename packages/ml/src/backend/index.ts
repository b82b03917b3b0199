export * from "./select-backend";
export * from "./wasm-grad-kernels";
export * from "./conv-grad-ops";
