/**
 * Scoring a model on a set labelled in another scheme: both sides are brought into the scheme a
 * built-in mapping leads to (a pbc-8 model on a wbc-5 set is scored in wbc-5; a wbc-5 model on a
 * pbc-8 set too), and only in the classes both sides have there.
 */
import { findSchemeMapping, resolveClassKeys } from "../data/class-schemes";
import { mapProbabilitiesToScheme } from "./scheme-mapping";

export interface CommonScheme {
  /** The scheme scores are computed in. */
  scheme: string;
  /** Its classes that both the model and the data can express, in that scheme's order. */
  classKeys: string[];
  /** "pbc-8 -> wbc-5" (model side), "pbc-8 -> wbc-5 (labels)" (data side), or "none". */
  mapping: string;
  /** Model probabilities over its own classes -> probabilities over `classKeys` (renormalised). */
  mapProbs: (probs: readonly (readonly number[])[]) => number[][];
  /** A data label -> a key of `classKeys`, or null when the cell is outside the shared classes. */
  mapLabel: (label: string) => string | null;
}

/**
 * Plans scoring a model (`modelScheme`, output classes `modelKeys`) on data labelled in `dataScheme`.
 * Throws when neither scheme maps to the other.
 */
export function planCommonScheme(modelScheme: string, modelKeys: readonly string[], dataScheme: string): CommonScheme {
  if (modelScheme === dataScheme) {
    const keys = [...modelKeys];
    return {
      scheme: dataScheme,
      classKeys: keys,
      mapping: "none",
      mapProbs: (p) => p.map((r) => [...r]),
      mapLabel: (l) => (keys.includes(l) ? l : null),
    };
  }
  const toData = findSchemeMapping(modelScheme, dataScheme);
  if (toData) {
    // The model's classes that have a counterpart decide what can be scored (e.g. not a wbc-5 class the model lacks).
    const reached = new Set(modelKeys.map((k) => toData.entries[k]).filter((k): k is string => typeof k === "string"));
    const keys = resolveClassKeys(dataScheme).filter((k) => reached.has(k));
    const entries = { ...toData.entries };
    return {
      scheme: dataScheme,
      classKeys: keys,
      mapping: `${modelScheme} -> ${dataScheme}`,
      mapProbs: (p) => mapProbabilitiesToScheme(p, modelKeys, keys, restrictTargets(entries, keys)),
      mapLabel: (l) => (keys.includes(l) ? l : null),
    };
  }
  const toModel = findSchemeMapping(dataScheme, modelScheme);
  if (toModel) {
    const reached = new Set(Object.values(toModel.entries).filter((k): k is string => typeof k === "string"));
    const keys = modelKeys.filter((k) => reached.has(k));
    const identity = Object.fromEntries(modelKeys.map((k) => [k, keys.includes(k) ? k : null]));
    return {
      scheme: modelScheme,
      classKeys: keys,
      mapping: `${dataScheme} -> ${modelScheme} (labels)`,
      mapProbs: (p) => mapProbabilitiesToScheme(p, modelKeys, keys, identity),
      mapLabel: (l) => {
        const target = toModel.entries[l];
        return typeof target === "string" && keys.includes(target) ? target : null;
      },
    };
  }
  throw new Error(`No built-in mapping between the model's scheme '${modelScheme}' and the data's scheme '${dataScheme}'`);
}

/** Drops mapping targets outside `keys` (they become "no counterpart"). */
function restrictTargets(entries: Record<string, string | null>, keys: readonly string[]): Record<string, string | null> {
  return Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, v !== null && keys.includes(v) ? v : null]));
}
