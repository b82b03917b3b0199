export * from "./client";
export * from "./runtime-config";
export * from "./errors";
export * from "./queries";
export * from "./seed/seed-schemes";
export { builtInMappings, builtInSchemes } from "./seed/built-in-schemes";
export * as schema from "./schema";
