/**
 * One mapping from the user-facing augmentation and preprocessing settings (CLI --zoom /
 * --colour-jitter / --cell-centre / --cell-fraction / --colour, a job payload's `augment` and
 * `preprocess`) to the batch assembler's and decoder's options, so both paths train the same way.
 */
import type { AugmentSettings, PreprocessSettings } from "../contracts";
import { DEFAULT_CROP_MARGIN, DEFAULT_POINT_BOX_SIZE, type AugmentOptions } from "../data";
import type { ClassifierArtifactConfig } from "./artifacts";
import { DEFAULT_TRAIN_CONFIG } from "./train-classifier";

/** Default augmentation plus the given zoom range and colour jitter (gain and bias). */
export function toAugmentOptions(settings: Partial<AugmentSettings>, base: AugmentOptions = DEFAULT_TRAIN_CONFIG.augment): AugmentOptions {
  const out: AugmentOptions = { ...base };
  if (settings.zoom) out.zoom = [settings.zoom[0], settings.zoom[1]];
  if (settings.colourJitter !== undefined) {
    out.gain = settings.colourJitter;
    out.bias = settings.colourJitter;
  }
  return out;
}

/**
 * The decoder's crop settings for preprocessing settings, as recorded in config.json `crop`: evaluation,
 * prediction (tfjs and ONNX) and the trainer's jobs decode with exactly these.
 */
export function toCropSettings(
  settings: Partial<PreprocessSettings>,
  margin: number = DEFAULT_CROP_MARGIN,
): ClassifierArtifactConfig["crop"] {
  const colour = settings.colour ?? "none";
  return {
    margin,
    pointBoxSize: DEFAULT_POINT_BOX_SIZE,
    ...(settings.cellCentre ? { cellCentre: settings.cellFraction === undefined ? {} : { cellFraction: settings.cellFraction } } : {}),
    ...(colour !== "none" ? { colour } : {}),
  };
}
