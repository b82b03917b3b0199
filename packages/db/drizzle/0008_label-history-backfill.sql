-- History rows written before label_history carried its cell and reader: copy them from their label,
-- so a history row stays attributable after an undo removes the label it belonged to.
UPDATE "label_history" AS h
SET "cell_id" = l."cell_id", "reader_id" = l."reader_id"
FROM "label" AS l
WHERE h."label_id" = l."id" AND h."cell_id" IS NULL;
