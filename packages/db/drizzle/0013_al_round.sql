ALTER TYPE "public"."job_type" ADD VALUE 'round';--> statement-breakpoint
CREATE TABLE "al_round" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"number" integer NOT NULL,
	"strategy" text NOT NULL,
	"effective_strategy" text,
	"batch_size" integer NOT NULL,
	"quotas" jsonb,
	"model_version_id" uuid,
	"job_id" uuid,
	"labels_so_far" integer,
	"picked" integer,
	"head_metrics" jsonb,
	"model_metrics" jsonb,
	"details" jsonb,
	"error" text,
	"created_by" uuid,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "al_round" ADD CONSTRAINT "al_round_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "al_round" ADD CONSTRAINT "al_round_model_version_id_model_version_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_version"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "al_round" ADD CONSTRAINT "al_round_job_id_job_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."job"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "al_round" ADD CONSTRAINT "al_round_created_by_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."user"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "al_round_project_number_uq" ON "al_round" USING btree ("project_id","number");--> statement-breakpoint
CREATE INDEX "al_round_job_idx" ON "al_round" USING btree ("job_id");