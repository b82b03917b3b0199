/**
 * One mapping from the user-facing augmentation settings (CLI --zoom / --colour-jitter, a job
 * payload's `augment`) to the batch assembler's options, so both paths train the same way.
 */
import type { AugmentSettings } from "../contracts";
import type { AugmentOptions } from "../data";
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
