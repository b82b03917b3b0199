import type { Rect, Size } from "./viewer/coordinates";

/**
 * CSS background values that show a square region around `box` of an `image` inside a square tile
 * (a cell on a field image, previewed without cutting a new file). All values are percentages, so
 * the tile may have any size.
 */
export function cropBackground(box: Rect, image: Size, padding = 0.15): { backgroundSize: string; backgroundPosition: string } {
  const side = Math.min(Math.max(box.width, box.height) * (1 + 2 * padding), image.width, image.height);
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const sx = Math.min(Math.max(cx - side / 2, 0), image.width - side);
  const sy = Math.min(Math.max(cy - side / 2, 0), image.height - side);
  const px = image.width - side > 0 ? (sx / (image.width - side)) * 100 : 0;
  const py = image.height - side > 0 ? (sy / (image.height - side)) * 100 : 0;
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return {
    backgroundSize: `${round((image.width / side) * 100)}% auto`,
    backgroundPosition: `${round(px)}% ${round(py)}%`,
  };
}
