import { bigint, index, integer, jsonb, pgEnum, pgTable, real, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { institution, user } from "./auth";
import { createdAt, id } from "./columns";
import { classScheme } from "./scheme";

export const imageKind = pgEnum("image_kind", ["crop", "field"]);
export const cellGeometry = pgEnum("cell_geometry", ["whole", "point", "box", "polygon"]);

export const dataset = pgTable(
  "dataset",
  {
    id: id(),
    institutionId: uuid()
      .notNull()
      .references(() => institution.id, { onDelete: "restrict" }),
    name: text().notNull(),
    description: text(),
    /** Scheme the contributed labels are written in. */
    schemeId: uuid()
      .notNull()
      .references(() => classScheme.id, { onDelete: "restrict" }),
    site: text(),
    device: text(),
    stain: text(),
    magnification: text(),
    licence: text(),
    attribution: text(),
    createdBy: uuid().references(() => user.id, { onDelete: "restrict" }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("dataset_institution_name_uq").on(t.institutionId, t.name), index("dataset_scheme_idx").on(t.schemeId)],
);

/** Bytes are stored once by content hash; a row ties them to a dataset. */
export const image = pgTable(
  "image",
  {
    id: id(),
    datasetId: uuid()
      .notNull()
      .references(() => dataset.id, { onDelete: "cascade" }),
    sha256: text().notNull(),
    kind: imageKind().notNull(),
    originalName: text().notNull(),
    format: text().notNull(),
    width: integer().notNull(),
    height: integer().notNull(),
    byteSize: bigint({ mode: "number" }).notNull(),
    storageKey: text().notNull(),
    thumbnailKey: text().notNull(),
    /** Deep Zoom descriptor (.dzi) key, fields only. */
    dziKey: text(),
    patient: text(),
    smear: text(),
    metadata: jsonb().$type<Record<string, unknown>>(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("image_dataset_sha256_uq").on(t.datasetId, t.sha256),
    index("image_sha256_idx").on(t.sha256),
    index("image_dataset_kind_idx").on(t.datasetId, t.kind),
  ],
);

export type PolygonPoints = Array<[number, number]>;

/** A region on an image that gets labelled: the whole crop, a point, a box or a polygon (image pixels). */
export const cell = pgTable(
  "cell",
  {
    id: id(),
    imageId: uuid()
      .notNull()
      .references(() => image.id, { onDelete: "cascade" }),
    geometry: cellGeometry().notNull(),
    x: real(),
    y: real(),
    width: real(),
    height: real(),
    points: jsonb().$type<PolygonPoints>(),
    /** Free text from the source (e.g. PBC file-name prefix, VOC class name). */
    sourceLabel: text(),
    createdBy: uuid().references(() => user.id, { onDelete: "restrict" }),
    createdAt: createdAt(),
    /** Increments on every geometry change or deletion: the optimistic-concurrency token for edits. */
    version: integer().notNull().default(1),
    /**
     * Soft delete: a deleted cell keeps its labels and their history, but every read query leaves it out
     * (training set, export, review queue, viewer). Null = live.
     */
    deletedAt: timestamp({ withTimezone: true }),
    deletedBy: uuid().references(() => user.id, { onDelete: "restrict" }),
  },
  (t) => [index("cell_image_idx").on(t.imageId)],
);
