export * from "./storage";
export * from "./storage-keys";
export * from "./local-storage";
export * from "./s3-storage";
export * from "./create-storage";
export * from "./local-files";
