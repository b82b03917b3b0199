"use client";

import { JOB_DEFAULTS, type AugmentSettings, type PreprocessSettings } from "@hemaloop/ml/contracts";

/**
 * The recipe options a lead may set on train, LODOCV and predict jobs: the CLI's --cell-centre,
 * --cell-fraction, --colour, --zoom, --colour-jitter and --no-adapt. Defaults are the product's
 * (JOB_DEFAULTS): plain crop, no colour normalisation, colour jitter 0.1, no zoom, AdaBN on.
 */
export type RecipeOptions = {
  cellCentre: boolean;
  cellFraction: number;
  colour: PreprocessSettings["colour"];
  zoom: boolean;
  colourJitter: number;
  adapt: boolean;
};

/** Random zoom range offered when zoom is on (the CLI's --zoom MIN,MAX). */
const ZOOM_RANGE: [number, number] = [0.8, 1.25];

export const DEFAULT_RECIPE: RecipeOptions = {
  cellCentre: JOB_DEFAULTS.cellCentre,
  cellFraction: JOB_DEFAULTS.cellFraction,
  colour: JOB_DEFAULTS.colour,
  zoom: false,
  colourJitter: JOB_DEFAULTS.colourJitter,
  adapt: JOB_DEFAULTS.adapt,
};

/** The payload fields of a train / LODOCV job for these options. */
export function toTrainOptions(o: RecipeOptions): { preprocess: PreprocessSettings; augment: AugmentSettings } {
  return {
    preprocess: { cellCentre: o.cellCentre, cellFraction: o.cellFraction, colour: o.colour },
    augment: { colourJitter: o.colourJitter, ...(o.zoom ? { zoom: ZOOM_RANGE } : {}) },
  };
}

export function RecipeOptionsForm({ value, onChange }: { value: RecipeOptions; onChange: (next: RecipeOptions) => void }) {
  const set = <K extends keyof RecipeOptions>(key: K, v: RecipeOptions[K]) => onChange({ ...value, [key]: v });
  return (
    <details className="small" data-testid="recipe-options" style={{ marginBottom: "0.5rem" }}>
      <summary>Recipe options (preprocessing, augmentation, site adaptation)</summary>
      <div className="toolbar" style={{ flexWrap: "wrap", marginTop: "0.5rem" }}>
        <label title="Find the white cell's nucleus and crop so the cell fills a fixed share of the input, whatever the framing">
          <input type="checkbox" checked={value.cellCentre} onChange={(e) => set("cellCentre", e.target.checked)} /> Cell-centred crop
        </label>
        {value.cellCentre ? (
          <label>
            cell fills{" "}
            <input
              type="number"
              min={0.2}
              max={1}
              step={0.05}
              value={value.cellFraction}
              onChange={(e) => set("cellFraction", Number(e.target.value))}
              style={{ width: "4.5rem" }}
            />{" "}
            of the input
          </label>
        ) : null}
        <label>
          Colour normalisation{" "}
          <select value={value.colour} onChange={(e) => set("colour", e.target.value as RecipeOptions["colour"])}>
            <option value="none">none</option>
            <option value="reinhard">Reinhard (to a PBC reference)</option>
            <option value="standardise">per-image standardisation</option>
          </select>
        </label>
        <label title={`Random zoom ${ZOOM_RANGE[0]}-${ZOOM_RANGE[1]}x of training crops`}>
          <input type="checkbox" checked={value.zoom} onChange={(e) => set("zoom", e.target.checked)} /> Zoom augmentation
        </label>
        <label title="Per-channel gain and bias jitter of training crops">
          Colour jitter{" "}
          <input
            type="number"
            min={0}
            max={0.5}
            step={0.05}
            value={value.colourJitter}
            onChange={(e) => set("colourJitter", Number(e.target.value))}
            style={{ width: "4.5rem" }}
          />
        </label>
        <label title="Re-estimate batch-norm statistics on each dataset the model did not train on (AdaBN), when predicting and in LODOCV">
          <input type="checkbox" checked={value.adapt} onChange={(e) => set("adapt", e.target.checked)} /> Site adaptation (AdaBN)
        </label>
      </div>
      <p className="muted" style={{ margin: "0.25rem 0 0" }}>
        Defaults: plain crop, no colour normalisation, colour jitter {JOB_DEFAULTS.colourJitter}, no zoom, site adaptation on (datasets with
        at least {JOB_DEFAULTS.minAdaptCells} cells). A model keeps its crop and colour settings: prediction decodes the same way.
      </p>
    </details>
  );
}
