export * from "./auth";
export * from "./scheme";
export * from "./dataset";
export * from "./project";
export * from "./label";
export * from "./ml";
export * from "./al-round";
export * from "./double-reading";
