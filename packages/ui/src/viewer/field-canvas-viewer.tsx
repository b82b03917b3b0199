"use client";

import type OpenSeadragon from "openseadragon";
import { type CSSProperties, type Ref, useEffect, useImperativeHandle, useRef, useState } from "react";
import { clampPoint, clampRect, focusRect, isUsableBox, type Point, rectFromCorners, type Size } from "./coordinates";
import {
  type DrawnShape,
  dragHandle,
  type Handle,
  hitHandle,
  hitTestShapes,
  imageToScreen,
  keepShapeOnImage,
  moveShape,
  type ScreenTransform,
  screenToImage,
  shapeBounds,
  shapeHandles,
  transformFromProbes,
} from "./shape-geometry";

export type CanvasCell = { id: string; shape: DrawnShape; color: string; label?: string };
export type FieldTool = "select" | "point" | "box" | "polygon";

export type FieldCanvasHandle = { focusCell: (id: string) => void };

export type FieldCanvasViewerProps = {
  dziUrl: string;
  imageSize: Size;
  cells: readonly CanvasCell[];
  selectedId?: string | null;
  tool?: FieldTool;
  onSelect?: (id: string | null) => void;
  /** A finished new shape (image px, on the image); the parent saves it. */
  onCreate?: (shape: DrawnShape) => void;
  /** A selected cell moved, resized or reshaped (on release). */
  onReshape?: (id: string, shape: DrawnShape) => void;
  /** Why a shape may not be saved (null = fine): an invalid polygon is not closed, the reason is reported. */
  validateShape?: (shape: DrawnShape) => string | null;
  onInvalidShape?: (reason: string) => void;
  prefixUrl?: string;
  height?: CSSProperties["height"];
  ref?: Ref<FieldCanvasHandle>;
};

/** What a pointer drag is doing, kept in a ref: it changes every mouse move and must not re-render React. */
type Gesture =
  | { mode: "move"; id: string; start: Point; original: DrawnShape; current: DrawnShape }
  | { mode: "handle"; id: string; handle: Handle; original: DrawnShape; current: DrawnShape }
  | { mode: "box"; start: Point; current: Point };

/** Grab distance in screen pixels, whatever the zoom. */
const GRAB_PX = 7;
const HANDLE_PX = 4;
const UNLABELLED = "#ffd400";

/**
 * OpenSeadragon field viewer that draws every cell on ONE 2D canvas above the image (no DOM node per
 * cell), redrawn once per animation frame while the view moves. Tools: select (click; drag the selected
 * cell to move it or a handle to resize/reshape it), point, box (drag) and polygon (click vertices, close
 * on the first vertex, double-click or Enter; Escape cancels). Saving is the parent's job.
 */
export function FieldCanvasViewer(props: FieldCanvasViewerProps) {
  const { dziUrl, prefixUrl, height = "70vh", ref } = props;
  const containerRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const viewerRef = useRef<OpenSeadragon.Viewer | null>(null);
  const osdRef = useRef<typeof OpenSeadragon | null>(null);
  const gesture = useRef<Gesture | null>(null);
  const polygon = useRef<Array<[number, number]>>([]);
  const hover = useRef<Point | null>(null);
  const frame = useRef(0);
  const [ready, setReady] = useState(false);
  const [failed, setFailed] = useState<string | null>(null);

  // Latest props for handlers bound once per viewer and for the draw loop.
  const live = useRef(props);
  useEffect(() => {
    live.current = props;
  });

  const transform = (): ScreenTransform | null => {
    const viewer = viewerRef.current;
    const OSD = osdRef.current;
    if (!viewer || !OSD || !viewer.world.getItemCount()) return null;
    const origin = viewer.viewport.pixelFromPoint(new OSD.Point(0, 0), true);
    const unit = viewer.viewport.pixelFromPoint(new OSD.Point(1, 0), true);
    return transformFromProbes(origin, unit, live.current.imageSize.width);
  };

  const draw = () => {
    frame.current = 0;
    const canvas = canvasRef.current;
    const t = transform();
    if (!canvas || !t) return;
    drawCells(canvas, t, live.current, gesture.current, polygon.current, hover.current);
  };
  const scheduleDraw = () => {
    if (!frame.current) frame.current = requestAnimationFrame(draw);
  };
  // The draw functions only read refs, so the first render's copy stays valid for the viewer's life.
  const drawRef = useRef(scheduleDraw);

  useImperativeHandle(
    ref,
    () => ({
      focusCell: (id: string) => {
        const viewer = viewerRef.current;
        const OSD = osdRef.current;
        const c = live.current.cells.find((x) => x.id === id);
        if (!viewer || !OSD || !c) return;
        const b = shapeBounds(c.shape);
        const r = focusRect({ ...b, width: Math.max(b.width, 40), height: Math.max(b.height, 40) }, live.current.imageSize);
        viewer.viewport.fitBounds(new OSD.Rect(r.x, r.y, r.width, r.height));
      },
    }),
    [],
  );

  useEffect(() => {
    let cancelled = false;
    let viewer: OpenSeadragon.Viewer | null = null;
    const redraw = () => drawRef.current();
    void import("openseadragon").then(({ default: OSD }) => {
      if (cancelled || !containerRef.current) return;
      osdRef.current = OSD;
      viewer = OSD({
        element: containerRef.current,
        tileSources: dziUrl,
        prefixUrl,
        showNavigationControl: Boolean(prefixUrl),
        showNavigator: false,
        crossOriginPolicy: false,
        ajaxWithCredentials: false,
        gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: false },
        visibilityRatio: 0.5,
        maxZoomPixelRatio: 4,
      });
      viewerRef.current = viewer;
      const v = viewer;
      const toImage = (position: OpenSeadragon.Point): Point => {
        const t = transform();
        return t ? screenToImage(position, t) : { x: NaN, y: NaN };
      };
      const tolerance = () => GRAB_PX / (transform()?.scale ?? 1);
      v.addHandler("open", () => {
        setReady(true);
        redraw();
      });
      v.addHandler("open-failed", (e) => setFailed(String((e as { message?: string }).message ?? "could not open image")));
      v.addHandler("update-viewport", redraw);
      v.addHandler("resize", redraw);

      v.addHandler("canvas-press", (e) => {
        const p = live.current;
        const at = toImage(e.position);
        const tool = p.tool ?? "select";
        if (tool === "box") {
          const start = clampPoint(at, p.imageSize);
          gesture.current = { mode: "box", start, current: start };
          return;
        }
        if (tool !== "select" || !p.selectedId) return;
        const selected = p.cells.find((c) => c.id === p.selectedId);
        if (!selected) return;
        const handle = hitHandle(selected.shape, at, tolerance());
        if (handle) gesture.current = { mode: "handle", id: selected.id, handle, original: selected.shape, current: selected.shape };
        else if (hitTestShapes([selected], at, tolerance()))
          gesture.current = { mode: "move", id: selected.id, start: at, original: selected.shape, current: selected.shape };
      });
      v.addHandler("canvas-drag", (e) => {
        const g = gesture.current;
        if (!g) return;
        e.preventDefaultAction = true; // editing, not panning
        const p = live.current;
        const at = clampPoint(toImage(e.position), p.imageSize);
        if (g.mode === "box") g.current = at;
        else if (g.mode === "move") g.current = keepShapeOnImage(moveShape(g.original, at.x - g.start.x, at.y - g.start.y), p.imageSize);
        else g.current = dragHandle(g.original, g.handle, at);
        redraw();
      });
      v.addHandler("canvas-release", () => {
        const g = gesture.current;
        gesture.current = null;
        if (!g) return;
        const p = live.current;
        if (g.mode === "box") {
          const rect = clampRect(rectFromCorners(g.start, g.current), p.imageSize);
          if (rect && isUsableBox(rect)) p.onCreate?.({ geometry: "box", ...rect });
        } else if (JSON.stringify(g.current) !== JSON.stringify(g.original)) {
          const problem = p.validateShape?.(g.current) ?? null;
          if (problem) p.onInvalidShape?.(problem);
          else p.onReshape?.(g.id, g.current);
        }
        redraw();
      });
      v.addHandler("canvas-click", (e) => {
        if (!e.quick) return;
        const p = live.current;
        const at = toImage(e.position);
        const onImage = at.x >= 0 && at.y >= 0 && at.x <= p.imageSize.width && at.y <= p.imageSize.height;
        const tool = p.tool ?? "select";
        if (tool === "select") {
          e.preventDefaultAction = true;
          p.onSelect?.(hitTestShapes(p.cells, at, tolerance())?.id ?? null);
        } else if (tool === "point" && onImage) {
          p.onCreate?.({ geometry: "point", x: at.x, y: at.y });
        } else if (tool === "polygon" && onImage) {
          const pts = polygon.current;
          const first = pts[0];
          if (first && pts.length >= 3 && Math.hypot(at.x - first[0], at.y - first[1]) <= tolerance()) closePolygon();
          else polygon.current = [...pts, [at.x, at.y]];
          redraw();
        }
      });
      v.addHandler("canvas-double-click", (e) => {
        if ((live.current.tool ?? "select") !== "polygon") return;
        e.preventDefaultAction = true;
        // the double-click's two clicks added the same vertex twice
        const pts = polygon.current;
        const a = pts.at(-1);
        const b = pts.at(-2);
        if (a && b && Math.hypot(a[0] - b[0], a[1] - b[1]) <= tolerance()) polygon.current = pts.slice(0, -1);
        closePolygon();
      });
    });
    const closePolygon = () => {
      const p = live.current;
      const shape: DrawnShape = { geometry: "polygon", points: polygon.current };
      const problem = p.validateShape?.(shape) ?? (polygon.current.length < 3 ? "a polygon needs at least 3 points" : null);
      if (problem) {
        p.onInvalidShape?.(problem);
        return;
      }
      polygon.current = [];
      p.onCreate?.(shape);
      drawRef.current();
    };
    const onKey = (e: KeyboardEvent) => {
      if ((live.current.tool ?? "select") !== "polygon" || polygon.current.length === 0) return;
      if (e.key === "Escape") polygon.current = [];
      else if (e.key === "Enter") closePolygon();
      else return;
      e.preventDefault();
      drawRef.current();
    };
    window.addEventListener("keydown", onKey);
    return () => {
      cancelled = true;
      window.removeEventListener("keydown", onKey);
      if (frame.current) cancelAnimationFrame(frame.current);
      frame.current = 0;
      viewer?.destroy();
      viewerRef.current = null;
      setReady(false);
      setFailed(null);
    };
  }, [dziUrl, prefixUrl]);

  // Any change of cells, selection or tool: one redraw on the next frame.
  useEffect(() => {
    if ((props.tool ?? "select") !== "polygon") polygon.current = [];
    drawRef.current();
  }, [props.cells, props.selectedId, props.tool, ready]);

  const tool = props.tool ?? "select";
  return (
    <div style={{ position: "relative", width: "100%", height }}>
      <div
        ref={containerRef}
        data-testid="deep-zoom-viewer"
        data-ready={ready ? "true" : "false"}
        style={{ position: "absolute", inset: 0, background: "#111", cursor: tool === "select" ? "default" : "crosshair" }}
        onMouseMove={(e) => {
          if (tool !== "polygon" || polygon.current.length === 0) return;
          const t = transform();
          const r = e.currentTarget.getBoundingClientRect();
          if (t) hover.current = screenToImage({ x: e.clientX - r.left, y: e.clientY - r.top }, t);
          drawRef.current();
        }}
      />
      <canvas
        ref={canvasRef}
        data-testid="field-canvas"
        data-cell-count={props.cells.length}
        data-selected-id={props.selectedId ?? ""}
        style={{ position: "absolute", inset: 0, width: "100%", height: "100%", pointerEvents: "none" }}
      />
      {failed ? (
        <div
          role="alert"
          style={{ position: "absolute", top: 8, left: 8, color: "#fff", background: "#b00020", padding: "4px 8px", borderRadius: 4 }}
        >
          {failed}
        </div>
      ) : null}
    </div>
  );
}

function tracePath(ctx: CanvasRenderingContext2D, shape: DrawnShape, t: ScreenTransform, pointRadius: number): void {
  if (shape.geometry === "point") {
    const c = imageToScreen(shape, t);
    ctx.moveTo(c.x + pointRadius, c.y);
    ctx.arc(c.x, c.y, pointRadius, 0, Math.PI * 2);
  } else if (shape.geometry === "box") {
    const a = imageToScreen(shape, t);
    ctx.rect(a.x, a.y, shape.width * t.scale, shape.height * t.scale);
  } else {
    shape.points.forEach(([x, y], i) => {
      const s = imageToScreen({ x, y }, t);
      if (i === 0) ctx.moveTo(s.x, s.y);
      else ctx.lineTo(s.x, s.y);
    });
    ctx.closePath();
  }
}

/**
 * One frame: cells off screen are skipped, the rest are stroked in one path per colour (a few draw calls
 * for thousands of cells); names are drawn only when a cell is big enough on screen to carry one.
 */
function drawCells(
  canvas: HTMLCanvasElement,
  t: ScreenTransform,
  p: FieldCanvasViewerProps,
  gesture: Gesture | null,
  polygon: ReadonlyArray<[number, number]>,
  hover: Point | null,
): void {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  canvas.dataset.transform = `${t.scale},${t.offsetX},${t.offsetY}`;

  const view = { x: -t.offsetX / t.scale, y: -t.offsetY / t.scale, width: w / t.scale, height: h / t.scale };
  const editing = gesture && gesture.mode !== "box" ? gesture : null;
  const byColor = new Map<string, CanvasCell[]>();
  const labelled: CanvasCell[] = [];
  let selected: CanvasCell | null = null;
  for (const c of p.cells) {
    const shape = editing?.id === c.id ? editing.current : c.shape;
    const b = shapeBounds(shape);
    if (b.x > view.x + view.width || b.y > view.y + view.height || b.x + b.width < view.x || b.y + b.height < view.y) continue;
    const cell = shape === c.shape ? c : { ...c, shape };
    if (c.id === p.selectedId) {
      selected = cell;
      continue;
    }
    const color = c.color || UNLABELLED;
    let list = byColor.get(color);
    if (!list) byColor.set(color, (list = []));
    list.push(cell);
    if (c.label && b.width * t.scale > 36) labelled.push(cell);
  }
  ctx.lineWidth = 2;
  for (const [color, list] of byColor) {
    ctx.beginPath();
    for (const c of list) tracePath(ctx, c.shape, t, 4);
    ctx.strokeStyle = color;
    ctx.stroke();
  }
  ctx.font = "600 11px system-ui, sans-serif";
  for (const c of labelled) {
    const b = shapeBounds(c.shape);
    const at = imageToScreen(b, t);
    const text = c.label!;
    ctx.fillStyle = c.color || UNLABELLED;
    ctx.fillRect(at.x - 1, at.y - 15, ctx.measureText(text).width + 8, 14);
    ctx.fillStyle = "#fff";
    ctx.fillText(text, at.x + 3, at.y - 4);
  }
  if (selected) {
    ctx.beginPath();
    tracePath(ctx, selected.shape, t, 6);
    ctx.lineWidth = 6;
    ctx.strokeStyle = "rgba(255,255,255,0.9)";
    ctx.stroke();
    ctx.lineWidth = 3;
    ctx.strokeStyle = selected.color || UNLABELLED;
    ctx.stroke();
    ctx.fillStyle = "#fff";
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 1;
    for (const { at } of shapeHandles(selected.shape)) {
      const s = imageToScreen(at, t);
      ctx.fillRect(s.x - HANDLE_PX, s.y - HANDLE_PX, HANDLE_PX * 2, HANDLE_PX * 2);
      ctx.strokeRect(s.x - HANDLE_PX, s.y - HANDLE_PX, HANDLE_PX * 2, HANDLE_PX * 2);
    }
  }
  // What is being drawn right now: the rubber band or the open polygon.
  ctx.setLineDash([6, 4]);
  ctx.lineWidth = 2;
  ctx.strokeStyle = "#fff";
  if (gesture?.mode === "box") {
    const r = rectFromCorners(gesture.start, gesture.current);
    ctx.beginPath();
    tracePath(ctx, { geometry: "box", ...r }, t, 4);
    ctx.stroke();
  }
  if (polygon.length > 0) {
    ctx.beginPath();
    const pts = hover ? [...polygon, [hover.x, hover.y] as [number, number]] : polygon;
    pts.forEach(([x, y], i) => {
      const s = imageToScreen({ x, y }, t);
      if (i === 0) ctx.moveTo(s.x, s.y);
      else ctx.lineTo(s.x, s.y);
    });
    ctx.stroke();
  }
  ctx.setLineDash([]);
}
