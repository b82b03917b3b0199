export { DeepZoomViewer, type DeepZoomViewerHandle, type DeepZoomViewerProps } from "./deep-zoom-viewer";
export * from "./coordinates";
export * from "./overlay-diff";
export {
  FieldCanvasViewer,
  type CanvasCell,
  type FieldCanvasHandle,
  type FieldCanvasViewerProps,
  type FieldTool,
} from "./field-canvas-viewer";
export * from "./shape-geometry";
export * from "./edit-history";
