ALTER TABLE "audit_event" DROP CONSTRAINT "audit_event_actor_id_user_id_fk";
--> statement-breakpoint
ALTER TABLE "audit_event" ADD CONSTRAINT "audit_event_actor_id_user_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."user"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "job_active_lodocv_plan_uq" ON "job" USING btree ("project_id") WHERE "job"."type" = 'lodocv' and "job"."parent_job_id" is null and "job"."status" in ('queued', 'running');