ALTER TABLE "model_version" ADD COLUMN "job_id" uuid;--> statement-breakpoint
ALTER TABLE "model_version" ADD CONSTRAINT "model_version_job_id_job_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."job"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "model_version_job_idx" ON "model_version" USING btree ("job_id");