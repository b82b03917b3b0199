export { DeepZoomViewer, type DeepZoomViewerHandle, type DeepZoomViewerProps } from "./DeepZoomViewer";
export * from "./coordinates";
