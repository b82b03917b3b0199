/**
 * Built-in class schemes (keys as used in manifests, CLIs and APIs). Order defines the model's
 * output indices, so it must never change for an existing scheme.
 */
export const CLASS_SCHEMES: Readonly<Record<string, readonly string[]>> = {
  "binary-typical": ["typical", "atypical"],
  "binary-malignant": ["benign", "malignant"],
  "lymphoid-4": ["normal_lymphocyte", "reactive_lymphocyte", "abnormal_lymphocyte", "blast"],
  "pbc-8": ["basophil", "eosinophil", "erythroblast", "ig", "lymphocyte", "monocyte", "neutrophil", "platelet"],
  "aml-15": ["BAS", "EBO", "EOS", "KSC", "LYA", "LYT", "MMZ", "MOB", "MON", "MYB", "MYO", "NGB", "NGS", "PMB", "PMO"],
  "wbc-5": ["neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil"],
};

/**
 * Class keys of a scheme: a built-in scheme key, or an explicit comma-separated list of keys
 * (for schemes defined in the database and passed down by the caller).
 */
export function resolveClassKeys(scheme: string): string[] {
  const builtIn = CLASS_SCHEMES[scheme];
  if (builtIn) return [...builtIn];
  if (scheme.includes(",")) {
    const keys = scheme
      .split(",")
      .map((k) => k.trim())
      .filter(Boolean);
    if (new Set(keys).size !== keys.length) throw new Error(`Duplicate class keys in '${scheme}'`);
    if (keys.length < 2) throw new Error(`A scheme needs at least two classes (got '${scheme}')`);
    return keys;
  }
  throw new Error(
    `Unknown class scheme '${scheme}' (built in: ${Object.keys(CLASS_SCHEMES).join(", ")}; or pass a comma-separated key list)`,
  );
}

/** A mapping between two schemes' keys; null = no counterpart (the cell is left out). */
export interface SchemeMappingDef {
  from: string;
  to: string;
  entries: Readonly<Record<string, string | null>>;
}

const AML_ATYPICAL = new Set(["MYO", "MOB", "LYA", "PMO", "PMB", "MYB", "MMZ", "EBO"]);

/**
 * The built-in scheme mappings: the CLIs and the trainer map with them, and packages/db seeds this
 * same list for projects (its builtInMappings is derived from it).
 */
export const BUILT_IN_SCHEME_MAPPINGS: readonly SchemeMappingDef[] = [
  {
    from: "aml-15",
    to: "binary-typical",
    entries: Object.fromEntries((CLASS_SCHEMES["aml-15"] ?? []).map((k) => [k, AML_ATYPICAL.has(k) ? "atypical" : "typical"])),
  },
  {
    from: "lymphoid-4",
    to: "binary-malignant",
    entries: { normal_lymphocyte: "benign", reactive_lymphocyte: "benign", abnormal_lymphocyte: "malignant", blast: "malignant" },
  },
  {
    from: "pbc-8",
    to: "wbc-5",
    entries: {
      basophil: "basophil",
      eosinophil: "eosinophil",
      erythroblast: null,
      ig: null,
      lymphocyte: "lymphocyte",
      monocyte: "monocyte",
      neutrophil: "neutrophil",
      platelet: null,
    },
  },
  {
    from: "aml-15",
    to: "wbc-5",
    entries: {
      BAS: "basophil",
      EBO: null,
      EOS: "eosinophil",
      KSC: null,
      LYA: "lymphocyte",
      LYT: "lymphocyte",
      MMZ: null,
      MOB: null,
      MON: "monocyte",
      MYB: null,
      MYO: null,
      NGB: "neutrophil",
      NGS: "neutrophil",
      PMB: null,
      PMO: null,
    },
  },
];

/** The built-in mapping from scheme `from` to scheme `to`, or undefined when there is none. */
export function findSchemeMapping(from: string, to: string): SchemeMappingDef | undefined {
  return BUILT_IN_SCHEME_MAPPINGS.find((m) => m.from === from && m.to === to);
}
