"use client";

import type OpenSeadragon from "openseadragon";
import { type CSSProperties, type Ref, useCallback, useEffect, useImperativeHandle, useRef, useState } from "react";
import {
  clampPoint,
  clampRect,
  focusRect,
  hitTest,
  isUsableBox,
  type Point,
  rectFromCorners,
  type Size,
  viewportToImagePoint,
  type ViewerBox,
} from "./coordinates";
import { diffOverlays, type OverlaySpec, toOverlaySpecs } from "./overlay-diff";

export type DeepZoomViewerHandle = {
  /** Zooms to a box (server or draft) by id. */
  focusBox: (id: string) => void;
  /** Drops the local, unsaved boxes. */
  clearDrafts: () => void;
};

export type DeepZoomViewerProps = {
  /** URL of the Deep Zoom descriptor (.dzi); tiles are fetched from `<name>_files/` next to it. */
  dziUrl: string;
  /** Full-resolution image size in pixels (known from the database; used for coordinate math). */
  imageSize: Size;
  /** Boxes from the server (saved cells). Never mutated here. */
  boxes: readonly ViewerBox[];
  selectedId?: string | null;
  onBoxClick?: (id: string, box: ViewerBox) => void;
  /** A click on the image away from any box, in image pixels. */
  onBackgroundClick?: (point: Point) => void;
  /** When true, dragging draws a new local (draft) box instead of panning. */
  drawMode?: boolean;
  /** Called with the local, unsaved boxes whenever they change. */
  onDraftsChange?: (drafts: ViewerBox[]) => void;
  /** Folder with OpenSeadragon's button images; navigation buttons are hidden when absent. */
  prefixUrl?: string;
  height?: CSSProperties["height"];
  className?: string;
  ref?: Ref<DeepZoomViewerHandle>;
};

type Drag = { start: Point; current: Point };

/** Overlays on the viewer, by id: what each shows and its element (updated in place, never rebuilt). */
type OverlayLayer = { specs: Map<string, OverlaySpec>; elements: Map<string, HTMLDivElement> };

const newLayer = (): OverlayLayer => ({ specs: new Map(), elements: new Map() });

/**
 * OpenSeadragon deep-zoom viewer with box overlays. OpenSeadragon is imported and created in an effect
 * (client only) on a container ref and destroyed on cleanup. Server boxes arrive as props; boxes the
 * user draws are local state ("drafts") until a parent saves them, so a refetch never wipes an edit.
 */
export function DeepZoomViewer(props: DeepZoomViewerProps) {
  const { dziUrl, imageSize, boxes, selectedId = null, drawMode = false, prefixUrl, height = "70vh", className, ref } = props;
  const containerRef = useRef<HTMLDivElement>(null);
  const viewerRef = useRef<OpenSeadragon.Viewer | null>(null);
  const osdRef = useRef<typeof OpenSeadragon | null>(null);
  const dragRef = useRef<Drag | null>(null);
  const [ready, setReady] = useState(false);
  const [failed, setFailed] = useState<string | null>(null);
  const [drafts, setDrafts] = useState<ViewerBox[]>([]);
  const [drag, setDrag] = useState<Drag | null>(null);
  // Boxes and the rubber band are separate layers so a drag event diffs one overlay, not every box.
  const boxLayer = useRef<OverlayLayer>(newLayer());
  const bandLayer = useRef<OverlayLayer>(newLayer());

  // Latest props/state for the OpenSeadragon handlers, which are bound once per viewer.
  const live = useRef({ props, drafts });
  useEffect(() => {
    live.current = { props, drafts };
  });
  const setDragBoth = useCallback((d: Drag | null) => {
    dragRef.current = d;
    setDrag(d);
  }, []);

  // Reported from an effect, not from the state updater: updaters may run during render, where a parent's setState is not allowed.
  const reportedDrafts = useRef(drafts);
  useEffect(() => {
    if (reportedDrafts.current === drafts) return;
    reportedDrafts.current = drafts;
    live.current.props.onDraftsChange?.(drafts);
  }, [drafts]);

  useImperativeHandle(
    ref,
    () => ({
      focusBox: (id: string) => {
        const viewer = viewerRef.current;
        const OSD = osdRef.current;
        const box = [...live.current.props.boxes, ...live.current.drafts].find((b) => b.id === id);
        if (!viewer || !OSD || !box) return;
        const r = focusRect(box, live.current.props.imageSize);
        viewer.viewport.fitBounds(new OSD.Rect(r.x, r.y, r.width, r.height));
      },
      clearDrafts: () => setDrafts(() => []),
    }),
    [],
  );

  // Create / destroy the viewer.
  useEffect(() => {
    let cancelled = false;
    let viewer: OpenSeadragon.Viewer | null = null;
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
        gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: true },
        visibilityRatio: 0.5,
        maxZoomPixelRatio: 4,
      });
      viewerRef.current = viewer;
      const toImage = (position: OpenSeadragon.Point): Point => {
        const vp = viewer!.viewport.pointFromPixel(position);
        return viewportToImagePoint({ x: vp.x, y: vp.y }, live.current.props.imageSize);
      };
      viewer.addHandler("open", () => setReady(true));
      viewer.addHandler("open-failed", (e) => setFailed(String((e as { message?: string }).message ?? "could not open image")));
      viewer.addHandler("canvas-click", (e) => {
        if (!e.quick) return;
        const { props: p, drafts: d } = live.current;
        const point = toImage(e.position);
        const hit = hitTest([...p.boxes, ...d], point, 2);
        if (hit) {
          e.preventDefaultAction = true;
          p.onBoxClick?.(hit.id, hit);
        } else if (point.x >= 0 && point.y >= 0 && point.x <= p.imageSize.width && point.y <= p.imageSize.height) {
          p.onBackgroundClick?.(point);
        }
      });
      viewer.addHandler("canvas-press", (e) => {
        if (!live.current.props.drawMode) return;
        const start = clampPoint(toImage(e.position), live.current.props.imageSize);
        setDragBoth({ start, current: start });
      });
      viewer.addHandler("canvas-drag", (e) => {
        if (!live.current.props.drawMode) return;
        e.preventDefaultAction = true; // no panning while drawing
        const current = clampPoint(toImage(e.position), live.current.props.imageSize);
        if (dragRef.current) setDragBoth({ ...dragRef.current, current });
      });
      viewer.addHandler("canvas-release", () => {
        const d = dragRef.current;
        setDragBoth(null);
        if (!live.current.props.drawMode || !d) return;
        const rect = clampRect(rectFromCorners(d.start, d.current), live.current.props.imageSize);
        if (!rect || !isUsableBox(rect)) return;
        setDrafts((prev) => [...prev, { ...rect, id: `draft-${Date.now()}-${prev.length}`, label: "new" }]);
      });
    });
    return () => {
      cancelled = true;
      viewer?.destroy(); // removes its overlays too
      viewerRef.current = null;
      boxLayer.current = newLayer();
      bandLayer.current = newLayer();
      setReady(false);
      setFailed(null);
    };
  }, [dziUrl, prefixUrl, setDragBoth]);

  // Sync overlays by id: a new box adds one, a moved or relabelled box updates its element, a vanished box removes it.
  useEffect(() => {
    const viewer = viewerRef.current;
    const OSD = osdRef.current;
    if (!viewer || !OSD || !ready) return;
    const next = [...toOverlaySpecs(boxes, "saved", imageSize, selectedId), ...toOverlaySpecs(drafts, "draft", imageSize, selectedId)];
    syncOverlays(viewer, OSD, boxLayer.current, next);
  }, [ready, boxes, drafts, selectedId, imageSize]);

  useEffect(() => {
    const viewer = viewerRef.current;
    const OSD = osdRef.current;
    if (!viewer || !OSD || !ready) return;
    const band = drag ? [{ ...rectFromCorners(drag.start, drag.current), id: "band" }] : [];
    syncOverlays(viewer, OSD, bandLayer.current, toOverlaySpecs(band, "band", imageSize, null));
  }, [ready, drag, imageSize]);

  return (
    <div className={className} style={{ position: "relative", width: "100%", height }}>
      <div
        ref={containerRef}
        data-testid="deep-zoom-viewer"
        data-ready={ready ? "true" : "false"}
        style={{ position: "absolute", inset: 0, background: "#111", cursor: drawMode ? "crosshair" : "grab" }}
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

/** Applies the keyed diff between a layer and `next` to the viewer, touching only overlays that changed. */
function syncOverlays(viewer: OpenSeadragon.Viewer, OSD: typeof OpenSeadragon, layer: OverlayLayer, next: readonly OverlaySpec[]): void {
  const { add, update, remove } = diffOverlays(layer.specs, next);
  const location = (spec: OverlaySpec) => new OSD.Rect(spec.rect.x, spec.rect.y, spec.rect.width, spec.rect.height);
  for (const id of remove) {
    const element = layer.elements.get(id);
    if (element) viewer.removeOverlay(element);
    layer.elements.delete(id);
    layer.specs.delete(id);
  }
  for (const spec of add) {
    const element = document.createElement("div");
    styleOverlay(element, spec);
    viewer.addOverlay({ element, location: location(spec) });
    layer.elements.set(spec.id, element);
    layer.specs.set(spec.id, spec);
  }
  for (const { spec, moved, restyled } of update) {
    const element = layer.elements.get(spec.id);
    if (!element) continue;
    if (restyled) styleOverlay(element, spec);
    if (moved) viewer.updateOverlay(element, location(spec));
    layer.specs.set(spec.id, spec);
  }
}

/** Sets an overlay element's look from its spec; idempotent, so a restyle reuses the element. */
function styleOverlay(el: HTMLDivElement, spec: OverlaySpec): void {
  el.className = `hl-osd-box hl-osd-box--${spec.kind}${spec.selected ? " hl-osd-box--selected" : ""}`;
  el.dataset.boxId = spec.id;
  Object.assign(el.style, {
    border: `${spec.selected ? 4 : 2}px ${spec.kind === "saved" ? "solid" : "dashed"} ${spec.color}`,
    boxShadow: spec.selected ? "0 0 0 2px rgba(255,255,255,0.9)" : "none",
    pointerEvents: "none",
    boxSizing: "border-box",
  } satisfies Partial<CSSStyleDeclaration>);
  let tag = el.querySelector("span");
  if (!spec.label) {
    tag?.remove();
    return;
  }
  if (!tag) {
    tag = document.createElement("span");
    Object.assign(tag.style, {
      position: "absolute",
      left: "-2px",
      top: "-1.4em",
      color: "#fff",
      font: "600 11px/1.3 system-ui, sans-serif",
      padding: "0 4px",
      borderRadius: "3px",
      whiteSpace: "nowrap",
    } satisfies Partial<CSSStyleDeclaration>);
    el.appendChild(tag);
  }
  tag.textContent = spec.label;
  tag.style.background = spec.color;
}
