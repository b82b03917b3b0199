export { selectQueryBatch, QUERY_STRATEGIES, DEFAULT_DUPLICATE_THRESHOLD } from "./select-batch";
export type { QueryStrategy, QueryPool, QueryConfig, QueryBatch } from "./select-batch";
export type { ClassQuotas } from "./batch-picker";
export type { HybridOptions } from "./hybrid";
export type { TypiclustOptions } from "./typiclust";
export { runKMeans, type KMeansOptions, type KMeansResult } from "./k-means";
export { toEmbeddingMatrix, type EmbeddingMatrix } from "./embedding-matrix";
export { encodeEmbedding, decodeEmbedding, encodeEmbeddings, decodeEmbeddings, type EmbeddingFormat } from "./embedding-codec";
export { fitLightHead, predictLightHead, DEFAULT_LIGHT_HEAD_CONFIG, type LightHead, type LightHeadConfig } from "./light-head";
