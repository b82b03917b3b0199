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
