export { DeepZoomViewer, type DeepZoomViewerHandle, type DeepZoomViewerProps } from "./deep-zoom-viewer";
export * from "./coordinates";
export * from "./overlay-diff";
