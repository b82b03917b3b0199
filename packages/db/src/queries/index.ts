export * from "./audit";
export * from "./catalog";
export * from "./jobs";
export * from "./labels";
export * from "./projects";
export * from "./schemes";
export * from "./users";
