ALTER TYPE "public"."queue_kind" ADD VALUE 'double_reading';--> statement-breakpoint
ALTER TYPE "public"."queue_kind" ADD VALUE 'adjudication';--> statement-breakpoint
CREATE TABLE "double_reading_dataset" (
	"project_id" uuid NOT NULL,
	"dataset_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "double_reading_dataset_pk" PRIMARY KEY("project_id","dataset_id")
);
--> statement-breakpoint
CREATE TABLE "double_reading_plan" (
	"project_id" uuid PRIMARY KEY NOT NULL,
	"share" real DEFAULT 0 NOT NULL,
	"seed" text NOT NULL,
	"updated_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "double_reading_dataset" ADD CONSTRAINT "double_reading_dataset_project_id_double_reading_plan_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."double_reading_plan"("project_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "double_reading_dataset" ADD CONSTRAINT "double_reading_dataset_dataset_id_dataset_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."dataset"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "double_reading_plan" ADD CONSTRAINT "double_reading_plan_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "double_reading_plan" ADD CONSTRAINT "double_reading_plan_updated_by_user_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."user"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "double_reading_dataset_dataset_idx" ON "double_reading_dataset" USING btree ("dataset_id");