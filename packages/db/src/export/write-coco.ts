import { Readable } from "node:stream";
import type { ExportData } from "./collect-export-cells";

/**
 * COCO detection JSON, streamed one record at a time so a large project never sits in memory as one
 * string. Category ids follow the scheme's class order (1-based); crops are one annotation covering
 * the whole image. `hemaloop_*` fields keep the ids needed to trace a record back.
 */
export function createCocoStream(data: ExportData): Readable {
  return Readable.from(generateCoco(data), { objectMode: false });
}

function* generateCoco(data: ExportData): Generator<string> {
  const categoryIdByClassId = new Map(data.scheme.classes.map((c, i) => [c.id, i + 1]));
  const imageIdByUuid = new Map(data.images.map((img, i) => [img.imageId, i + 1]));
  yield `{"info":${JSON.stringify({ description: `HemaLoop export (${data.scheme.key})`, version: "1.0", date_created: new Date().toISOString() })}`;
  yield `,"categories":${JSON.stringify(
    data.scheme.classes.map((c, i) => ({ id: i + 1, name: c.key, supercategory: data.scheme.key, hemaloop_name: c.name })),
  )}`;
  yield `,"images":[`;
  for (const [i, img] of data.images.entries()) {
    const record = {
      id: i + 1,
      file_name: img.exportName,
      width: img.width,
      height: img.height,
      hemaloop_image_id: img.imageId,
      hemaloop_dataset: img.datasetName,
      hemaloop_original_name: img.originalName,
      hemaloop_kind: img.kind,
      patient: img.patient,
      smear: img.smear,
    };
    yield `${i === 0 ? "" : ","}\n${JSON.stringify(record)}`;
  }
  yield `],"annotations":[`;
  for (const [i, c] of data.cells.entries()) {
    const { x, y, width, height } = c.box;
    const record: Record<string, unknown> = {
      id: i + 1,
      image_id: imageIdByUuid.get(c.imageId),
      category_id: categoryIdByClassId.get(c.classId),
      bbox: [x, y, width, height],
      area: width * height,
      iscrowd: 0,
      hemaloop_cell_id: c.cellId,
      hemaloop_geometry: c.geometry,
    };
    if (c.geometry === "polygon" && c.points) record.segmentation = [c.points.flat()];
    if (c.geometry === "point") Object.assign(record, { keypoints: [x, y, 2], num_keypoints: 1 });
    yield `${i === 0 ? "" : ","}\n${JSON.stringify(record)}`;
  }
  yield `]}\n`;
}
