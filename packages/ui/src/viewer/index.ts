export * from "./coordinates";
export {
  FieldCanvasViewer,
  type CanvasCell,
  type FieldCanvasHandle,
  type FieldCanvasViewerProps,
  type FieldTool,
} from "./field-canvas-viewer";
export * from "./shape-geometry";
export * from "./edit-history";
