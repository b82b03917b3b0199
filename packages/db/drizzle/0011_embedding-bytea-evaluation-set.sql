CREATE TABLE "evaluation_set_cell" (
	"project_id" uuid NOT NULL,
	"cell_id" uuid NOT NULL,
	"added_at" timestamp with time zone DEFAULT now() NOT NULL,
	"added_by" uuid,
	CONSTRAINT "evaluation_set_cell_pk" PRIMARY KEY("project_id","cell_id")
);
--> statement-breakpoint
-- real[] embeddings were never written; the column is replaced rather than cast.
ALTER TABLE "prediction" DROP COLUMN "embedding";--> statement-breakpoint
ALTER TABLE "prediction" ADD COLUMN "embedding" bytea;--> statement-breakpoint
ALTER TABLE "evaluation_set_cell" ADD CONSTRAINT "evaluation_set_cell_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evaluation_set_cell" ADD CONSTRAINT "evaluation_set_cell_cell_id_cell_id_fk" FOREIGN KEY ("cell_id") REFERENCES "public"."cell"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evaluation_set_cell" ADD CONSTRAINT "evaluation_set_cell_added_by_user_id_fk" FOREIGN KEY ("added_by") REFERENCES "public"."user"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "evaluation_set_cell_cell_idx" ON "evaluation_set_cell" USING btree ("cell_id");