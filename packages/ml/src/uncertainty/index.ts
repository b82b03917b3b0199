export { scoreUncertainty, type UncertaintyScores } from "./score-uncertainty";
export { rankByUncertainty, type UncertaintyStrategy } from "./rank-by-uncertainty";
export { predictMcDropout } from "./mc-dropout";
