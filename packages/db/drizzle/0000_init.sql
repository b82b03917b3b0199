CREATE TYPE "public"."institution_role" AS ENUM('admin', 'member');--> statement-breakpoint
CREATE TYPE "public"."cell_geometry" AS ENUM('whole', 'point', 'box', 'polygon');--> statement-breakpoint
CREATE TYPE "public"."image_kind" AS ENUM('crop', 'field');--> statement-breakpoint
CREATE TYPE "public"."project_role" AS ENUM('admin', 'lead', 'reviewer', 'annotator');--> statement-breakpoint
CREATE TYPE "public"."label_source" AS ENUM('imported', 'human', 'model_accepted', 'adjudicated');--> statement-breakpoint
CREATE TYPE "public"."job_status" AS ENUM('queued', 'running', 'succeeded', 'failed', 'cancelled');--> statement-breakpoint
CREATE TYPE "public"."job_type" AS ENUM('train', 'evaluate', 'lodocv', 'predict', 'import');--> statement-breakpoint
CREATE TYPE "public"."model_status" AS ENUM('training', 'ready', 'failed', 'rejected');--> statement-breakpoint
CREATE TYPE "public"."review_status" AS ENUM('pending', 'claimed', 'done', 'skipped');--> statement-breakpoint
CREATE TABLE "institution" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"country" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "institution_member" (
	"institution_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"role" "institution_role" DEFAULT 'member' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "institution_member_pk" PRIMARY KEY("institution_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "user" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"email" text NOT NULL,
	"name" text NOT NULL,
	"password_hash" text,
	"is_system_admin" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "class" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"scheme_id" uuid NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"color" text NOT NULL,
	"shortcut" text,
	"ordinal" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "class_scheme" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"built_in" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "scheme_mapping" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"from_scheme_id" uuid NOT NULL,
	"to_scheme_id" uuid NOT NULL,
	"built_in" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "scheme_mapping_entry" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"mapping_id" uuid NOT NULL,
	"from_class_id" uuid NOT NULL,
	"to_class_id" uuid
);
--> statement-breakpoint
CREATE TABLE "cell" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"image_id" uuid NOT NULL,
	"geometry" "cell_geometry" NOT NULL,
	"x" real,
	"y" real,
	"width" real,
	"height" real,
	"points" jsonb,
	"source_label" text,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dataset" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"institution_id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"scheme_id" uuid NOT NULL,
	"site" text,
	"device" text,
	"stain" text,
	"magnification" text,
	"licence" text,
	"attribution" text,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "image" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"dataset_id" uuid NOT NULL,
	"sha256" text NOT NULL,
	"kind" "image_kind" NOT NULL,
	"original_name" text NOT NULL,
	"format" text NOT NULL,
	"width" integer NOT NULL,
	"height" integer NOT NULL,
	"byte_size" bigint NOT NULL,
	"storage_key" text NOT NULL,
	"thumbnail_key" text NOT NULL,
	"dzi_key" text,
	"patient" text,
	"smear" text,
	"metadata" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "membership" (
	"project_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"role" "project_role" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "membership_pk" PRIMARY KEY("project_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "project" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"scheme_id" uuid NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"current_model_version_id" uuid,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "project_dataset" (
	"project_id" uuid NOT NULL,
	"dataset_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "project_dataset_pk" PRIMARY KEY("project_id","dataset_id")
);
--> statement-breakpoint
CREATE TABLE "audit_event" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"actor_id" uuid,
	"action" text NOT NULL,
	"entity_type" text NOT NULL,
	"entity_id" text NOT NULL,
	"before" jsonb,
	"after" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "label" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"cell_id" uuid NOT NULL,
	"scheme_id" uuid NOT NULL,
	"class_id" uuid NOT NULL,
	"reader_id" uuid,
	"source" "label_source" NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "label_cell_scheme_reader_uq" UNIQUE NULLS NOT DISTINCT("cell_id","scheme_id","reader_id")
);
--> statement-breakpoint
CREATE TABLE "label_history" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"label_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"class_id" uuid NOT NULL,
	"previous_class_id" uuid,
	"source" "label_source" NOT NULL,
	"actor_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "evaluation" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"model_version_id" uuid NOT NULL,
	"dataset_id" uuid,
	"job_id" uuid,
	"scheme_id" uuid NOT NULL,
	"metrics" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "job" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"type" "job_type" NOT NULL,
	"status" "job_status" DEFAULT 'queued' NOT NULL,
	"project_id" uuid,
	"parent_job_id" uuid,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"result" jsonb,
	"progress" real DEFAULT 0 NOT NULL,
	"progress_message" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer DEFAULT 3 NOT NULL,
	"priority" integer DEFAULT 0 NOT NULL,
	"run_after" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_by" text,
	"locked_at" timestamp with time zone,
	"heartbeat_at" timestamp with time zone,
	"cancel_requested" boolean DEFAULT false NOT NULL,
	"error" text,
	"logs" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "model_snapshot_item" (
	"model_version_id" uuid NOT NULL,
	"cell_id" uuid NOT NULL,
	"class_id" uuid NOT NULL,
	"split" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "model_version" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"scheme_id" uuid NOT NULL,
	"parent_id" uuid,
	"name" text NOT NULL,
	"backbone" text NOT NULL,
	"status" "model_status" DEFAULT 'training' NOT NULL,
	"hyper_parameters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"artifact_key" text,
	"onnx_key" text,
	"metrics" jsonb,
	"collapse_reasons" jsonb,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "prediction" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"cell_id" uuid NOT NULL,
	"model_version_id" uuid NOT NULL,
	"predicted_class_id" uuid NOT NULL,
	"probabilities" real[] NOT NULL,
	"confidence" real NOT NULL,
	"least_confidence" real NOT NULL,
	"margin" real NOT NULL,
	"entropy" real NOT NULL,
	"bald" real,
	"embedding" real[],
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "review_queue_item" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"project_id" uuid NOT NULL,
	"cell_id" uuid NOT NULL,
	"prediction_id" uuid,
	"priority" real NOT NULL,
	"strategy" text NOT NULL,
	"status" "review_status" DEFAULT 'pending' NOT NULL,
	"claimed_by" uuid,
	"claimed_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "institution_member" ADD CONSTRAINT "institution_member_institution_id_institution_id_fk" FOREIGN KEY ("institution_id") REFERENCES "public"."institution"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "institution_member" ADD CONSTRAINT "institution_member_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "class" ADD CONSTRAINT "class_scheme_id_class_scheme_id_fk" FOREIGN KEY ("scheme_id") REFERENCES "public"."class_scheme"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheme_mapping" ADD CONSTRAINT "scheme_mapping_from_scheme_id_class_scheme_id_fk" FOREIGN KEY ("from_scheme_id") REFERENCES "public"."class_scheme"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheme_mapping" ADD CONSTRAINT "scheme_mapping_to_scheme_id_class_scheme_id_fk" FOREIGN KEY ("to_scheme_id") REFERENCES "public"."class_scheme"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheme_mapping_entry" ADD CONSTRAINT "scheme_mapping_entry_mapping_id_scheme_mapping_id_fk" FOREIGN KEY ("mapping_id") REFERENCES "public"."scheme_mapping"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheme_mapping_entry" ADD CONSTRAINT "scheme_mapping_entry_from_class_id_class_id_fk" FOREIGN KEY ("from_class_id") REFERENCES "public"."class"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scheme_mapping_entry" ADD CONSTRAINT "scheme_mapping_entry_to_class_id_class_id_fk" FOREIGN KEY ("to_class_id") REFERENCES "public"."class"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cell" ADD CONSTRAINT "cell_image_id_image_id_fk" FOREIGN KEY ("image_id") REFERENCES "public"."image"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "cell" ADD CONSTRAINT "cell_created_by_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dataset" ADD CONSTRAINT "dataset_institution_id_institution_id_fk" FOREIGN KEY ("institution_id") REFERENCES "public"."institution"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dataset" ADD CONSTRAINT "dataset_scheme_id_class_scheme_id_fk" FOREIGN KEY ("scheme_id") REFERENCES "public"."class_scheme"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dataset" ADD CONSTRAINT "dataset_created_by_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "image" ADD CONSTRAINT "image_dataset_id_dataset_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."dataset"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "membership" ADD CONSTRAINT "membership_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "membership" ADD CONSTRAINT "membership_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "project" ADD CONSTRAINT "project_scheme_id_class_scheme_id_fk" FOREIGN KEY ("scheme_id") REFERENCES "public"."class_scheme"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "project" ADD CONSTRAINT "project_current_model_version_id_model_version_id_fk" FOREIGN KEY ("current_model_version_id") REFERENCES "public"."model_version"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "project" ADD CONSTRAINT "project_created_by_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "project_dataset" ADD CONSTRAINT "project_dataset_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "project_dataset" ADD CONSTRAINT "project_dataset_dataset_id_dataset_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."dataset"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_event" ADD CONSTRAINT "audit_event_actor_id_user_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "label" ADD CONSTRAINT "label_cell_id_cell_id_fk" FOREIGN KEY ("cell_id") REFERENCES "public"."cell"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "label" ADD CONSTRAINT "label_scheme_id_class_scheme_id_fk" FOREIGN KEY ("scheme_id") REFERENCES "public"."class_scheme"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "label" ADD CONSTRAINT "label_class_id_class_id_fk" FOREIGN KEY ("class_id") REFERENCES "public"."class"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "label" ADD CONSTRAINT "label_reader_id_user_id_fk" FOREIGN KEY ("reader_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "label_history" ADD CONSTRAINT "label_history_label_id_label_id_fk" FOREIGN KEY ("label_id") REFERENCES "public"."label"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "label_history" ADD CONSTRAINT "label_history_class_id_class_id_fk" FOREIGN KEY ("class_id") REFERENCES "public"."class"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "label_history" ADD CONSTRAINT "label_history_previous_class_id_class_id_fk" FOREIGN KEY ("previous_class_id") REFERENCES "public"."class"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "label_history" ADD CONSTRAINT "label_history_actor_id_user_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evaluation" ADD CONSTRAINT "evaluation_model_version_id_model_version_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_version"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evaluation" ADD CONSTRAINT "evaluation_dataset_id_dataset_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."dataset"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evaluation" ADD CONSTRAINT "evaluation_job_id_job_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."job"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evaluation" ADD CONSTRAINT "evaluation_scheme_id_class_scheme_id_fk" FOREIGN KEY ("scheme_id") REFERENCES "public"."class_scheme"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "job" ADD CONSTRAINT "job_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "job" ADD CONSTRAINT "job_parent_job_id_job_id_fk" FOREIGN KEY ("parent_job_id") REFERENCES "public"."job"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "job" ADD CONSTRAINT "job_created_by_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_snapshot_item" ADD CONSTRAINT "model_snapshot_item_model_version_id_model_version_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_version"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_snapshot_item" ADD CONSTRAINT "model_snapshot_item_cell_id_cell_id_fk" FOREIGN KEY ("cell_id") REFERENCES "public"."cell"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_snapshot_item" ADD CONSTRAINT "model_snapshot_item_class_id_class_id_fk" FOREIGN KEY ("class_id") REFERENCES "public"."class"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_version" ADD CONSTRAINT "model_version_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_version" ADD CONSTRAINT "model_version_scheme_id_class_scheme_id_fk" FOREIGN KEY ("scheme_id") REFERENCES "public"."class_scheme"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_version" ADD CONSTRAINT "model_version_parent_id_model_version_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."model_version"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_version" ADD CONSTRAINT "model_version_created_by_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "prediction" ADD CONSTRAINT "prediction_cell_id_cell_id_fk" FOREIGN KEY ("cell_id") REFERENCES "public"."cell"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "prediction" ADD CONSTRAINT "prediction_model_version_id_model_version_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_version"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "prediction" ADD CONSTRAINT "prediction_predicted_class_id_class_id_fk" FOREIGN KEY ("predicted_class_id") REFERENCES "public"."class"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_queue_item" ADD CONSTRAINT "review_queue_item_project_id_project_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."project"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_queue_item" ADD CONSTRAINT "review_queue_item_cell_id_cell_id_fk" FOREIGN KEY ("cell_id") REFERENCES "public"."cell"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_queue_item" ADD CONSTRAINT "review_queue_item_prediction_id_prediction_id_fk" FOREIGN KEY ("prediction_id") REFERENCES "public"."prediction"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "review_queue_item" ADD CONSTRAINT "review_queue_item_claimed_by_user_id_fk" FOREIGN KEY ("claimed_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "institution_name_uq" ON "institution" USING btree ("name");--> statement-breakpoint
CREATE INDEX "institution_member_user_idx" ON "institution_member" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "user_email_uq" ON "user" USING btree ("email");--> statement-breakpoint
CREATE UNIQUE INDEX "class_scheme_key_class_uq" ON "class" USING btree ("scheme_id","key");--> statement-breakpoint
CREATE UNIQUE INDEX "class_scheme_ordinal_uq" ON "class" USING btree ("scheme_id","ordinal");--> statement-breakpoint
CREATE UNIQUE INDEX "class_scheme_key_uq" ON "class_scheme" USING btree ("key");--> statement-breakpoint
CREATE UNIQUE INDEX "scheme_mapping_pair_uq" ON "scheme_mapping" USING btree ("from_scheme_id","to_scheme_id");--> statement-breakpoint
CREATE UNIQUE INDEX "scheme_mapping_entry_from_uq" ON "scheme_mapping_entry" USING btree ("mapping_id","from_class_id");--> statement-breakpoint
CREATE INDEX "scheme_mapping_entry_to_idx" ON "scheme_mapping_entry" USING btree ("to_class_id");--> statement-breakpoint
CREATE INDEX "cell_image_idx" ON "cell" USING btree ("image_id");--> statement-breakpoint
CREATE UNIQUE INDEX "dataset_institution_name_uq" ON "dataset" USING btree ("institution_id","name");--> statement-breakpoint
CREATE INDEX "dataset_scheme_idx" ON "dataset" USING btree ("scheme_id");--> statement-breakpoint
CREATE UNIQUE INDEX "image_dataset_sha256_uq" ON "image" USING btree ("dataset_id","sha256");--> statement-breakpoint
CREATE INDEX "image_sha256_idx" ON "image" USING btree ("sha256");--> statement-breakpoint
CREATE INDEX "image_dataset_kind_idx" ON "image" USING btree ("dataset_id","kind");--> statement-breakpoint
CREATE INDEX "membership_user_idx" ON "membership" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "project_slug_uq" ON "project" USING btree ("slug");--> statement-breakpoint
CREATE INDEX "project_dataset_dataset_idx" ON "project_dataset" USING btree ("dataset_id");--> statement-breakpoint
CREATE INDEX "audit_event_entity_idx" ON "audit_event" USING btree ("entity_type","entity_id");--> statement-breakpoint
CREATE INDEX "audit_event_actor_idx" ON "audit_event" USING btree ("actor_id","created_at");--> statement-breakpoint
CREATE INDEX "label_class_idx" ON "label" USING btree ("class_id");--> statement-breakpoint
CREATE INDEX "label_reader_idx" ON "label" USING btree ("reader_id");--> statement-breakpoint
CREATE UNIQUE INDEX "label_history_label_version_uq" ON "label_history" USING btree ("label_id","version");--> statement-breakpoint
CREATE INDEX "evaluation_model_idx" ON "evaluation" USING btree ("model_version_id");--> statement-breakpoint
CREATE INDEX "job_claim_idx" ON "job" USING btree ("status","priority","run_after");--> statement-breakpoint
CREATE INDEX "job_project_idx" ON "job" USING btree ("project_id","created_at");--> statement-breakpoint
CREATE INDEX "job_parent_idx" ON "job" USING btree ("parent_job_id");--> statement-breakpoint
CREATE UNIQUE INDEX "model_snapshot_item_uq" ON "model_snapshot_item" USING btree ("model_version_id","cell_id");--> statement-breakpoint
CREATE INDEX "model_version_project_idx" ON "model_version" USING btree ("project_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "prediction_cell_model_uq" ON "prediction" USING btree ("cell_id","model_version_id");--> statement-breakpoint
CREATE INDEX "prediction_model_entropy_idx" ON "prediction" USING btree ("model_version_id","entropy");--> statement-breakpoint
CREATE UNIQUE INDEX "review_queue_item_project_cell_uq" ON "review_queue_item" USING btree ("project_id","cell_id");--> statement-breakpoint
CREATE INDEX "review_queue_item_claim_idx" ON "review_queue_item" USING btree ("project_id","status","priority");