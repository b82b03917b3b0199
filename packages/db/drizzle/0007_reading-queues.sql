CREATE TYPE "public"."queue_kind" AS ENUM('labeling', 'review', 'false_negative');--> statement-breakpoint
CREATE TYPE "public"."review_decision_action" AS ENUM('accept', 'correct');--> statement-breakpoint
CREATE TABLE "review_decision" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"item_id" uuid NOT NULL,
	"cell_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"action" "review_decision_action" NOT NULL,
	"label_id" uuid,
	"label_version" integer NOT NULL,
	"class_id" uuid NOT NULL,
	"previous_class_id" uuid,
	"previous_source" "label_source",
	"model_version_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"undone_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "review_queue_skip" (
	"item_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "review_queue_skip_pk" PRIMARY KEY("item_id","user_id")
);
--> statement-breakpoint
ALTER TABLE "label_history" DROP CONSTRAINT "label_history_label_id_label_id_fk";
--> statement-breakpoint
DROP INDEX "review_queue_item_project_cell_uq";--> statement-breakpoint
DROP INDEX "review_queue_item_claim_idx";--> statement-breakpoint
ALTER TABLE "label_history" ALTER COLUMN "label_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "label_history" ADD COLUMN "cell_id" uuid;--> statement-breakpoint
ALTER TABLE "label_history" ADD COLUMN "reader_id" uuid;--> statement-breakpoint
ALTER TABLE "label_history" ADD COLUMN "removed" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "review_queue_item" ADD COLUMN "kind" "queue_kind" DEFAULT 'review' NOT NULL;--> statement-breakpoint
ALTER TABLE "review_queue_item" ADD COLUMN "round" smallint DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "review_queue_item" ADD COLUMN "lease_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "review_decision" ADD CONSTRAINT "review_decision_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_decision" ADD CONSTRAINT "review_decision_item_id_review_queue_item_id_fk" FOREIGN KEY ("item_id") REFERENCES "public"."review_queue_item"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_decision" ADD CONSTRAINT "review_decision_cell_id_cell_id_fk" FOREIGN KEY ("cell_id") REFERENCES "public"."cell"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_decision" ADD CONSTRAINT "review_decision_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_decision" ADD CONSTRAINT "review_decision_label_id_label_id_fk" FOREIGN KEY ("label_id") REFERENCES "public"."label"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_decision" ADD CONSTRAINT "review_decision_class_id_class_id_fk" FOREIGN KEY ("class_id") REFERENCES "public"."class"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_decision" ADD CONSTRAINT "review_decision_previous_class_id_class_id_fk" FOREIGN KEY ("previous_class_id") REFERENCES "public"."class"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_decision" ADD CONSTRAINT "review_decision_model_version_id_model_version_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_version"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_queue_skip" ADD CONSTRAINT "review_queue_skip_item_id_review_queue_item_id_fk" FOREIGN KEY ("item_id") REFERENCES "public"."review_queue_item"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_queue_skip" ADD CONSTRAINT "review_queue_skip_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "review_decision_user_idx" ON "review_decision" USING btree ("user_id","project_id","created_at");--> statement-breakpoint
CREATE INDEX "review_decision_project_idx" ON "review_decision" USING btree ("project_id","created_at");--> statement-breakpoint
ALTER TABLE "label_history" ADD CONSTRAINT "label_history_cell_id_cell_id_fk" FOREIGN KEY ("cell_id") REFERENCES "public"."cell"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "label_history" ADD CONSTRAINT "label_history_reader_id_user_id_fk" FOREIGN KEY ("reader_id") REFERENCES "public"."user"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "label_history" ADD CONSTRAINT "label_history_label_id_label_id_fk" FOREIGN KEY ("label_id") REFERENCES "public"."label"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "label_history_cell_idx" ON "label_history" USING btree ("cell_id");--> statement-breakpoint
CREATE UNIQUE INDEX "review_queue_item_project_kind_cell_uq" ON "review_queue_item" USING btree ("project_id","kind","cell_id","round");--> statement-breakpoint
CREATE INDEX "review_queue_item_claimer_idx" ON "review_queue_item" USING btree ("claimed_by","status");--> statement-breakpoint
CREATE INDEX "review_queue_item_claim_idx" ON "review_queue_item" USING btree ("project_id","kind","status","priority");