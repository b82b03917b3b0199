export * from "./import-types";
export { importImages, validateImportSource, DEFAULT_MAX_FILE_BYTES } from "./import-images";
export { clipBox } from "./place-cells";
export { createLabelResolver } from "./label-resolver";
export { THUMBNAIL_MAX_PX } from "./derive-images";
