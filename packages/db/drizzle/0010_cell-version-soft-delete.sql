ALTER TABLE "cell" ADD COLUMN "version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "cell" ADD COLUMN "deleted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "cell" ADD COLUMN "deleted_by" uuid;--> statement-breakpoint
ALTER TABLE "cell" ADD CONSTRAINT "cell_deleted_by_user_id_fk" FOREIGN KEY ("deleted_by") REFERENCES "public"."user"("id") ON DELETE restrict ON UPDATE no action;