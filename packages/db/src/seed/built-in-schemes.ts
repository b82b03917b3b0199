/** Built-in class schemes and mappings, exactly as DESIGN.md lists them. Keys are the API contract. */
import { BUILT_IN_SCHEME_MAPPINGS } from "@hemaloop/ml/schemes";

export type ClassDef = { key: string; name: string; color: string; shortcut: string };
export type SchemeDef = { key: string; name: string; description: string; classes: ClassDef[] };
export type MappingDef = { from: string; to: string; entries: Record<string, string | null> };

// Colour-blind-friendly palette (Okabe-Ito first, then Tableau) so adjacent classes stay distinct.
const palette = [
  "#E69F00",
  "#56B4E9",
  "#009E73",
  "#F0E442",
  "#0072B2",
  "#D55E00",
  "#CC79A7",
  "#999999",
  "#4E79A7",
  "#F28E2B",
  "#E15759",
  "#76B7B2",
  "#59A14F",
  "#EDC948",
  "#B07AA1",
];
const shortcuts = "123456789qwerty";

function defineClasses(pairs: Array<[key: string, name: string]>): ClassDef[] {
  return pairs.map(([key, name], i) => ({ key, name, color: palette[i % palette.length]!, shortcut: shortcuts[i]! }));
}

export const builtInSchemes: SchemeDef[] = [
  {
    key: "binary-typical",
    name: "Typical / atypical",
    description: "Binary screening: typical versus atypical cells.",
    classes: defineClasses([
      ["typical", "Typical"],
      ["atypical", "Atypical"],
    ]),
  },
  {
    key: "binary-malignant",
    name: "Benign / malignant",
    description: "Binary screening: benign versus malignant cells.",
    classes: defineClasses([
      ["benign", "Benign"],
      ["malignant", "Malignant"],
    ]),
  },
  {
    key: "lymphoid-4",
    name: "Lymphoid 4-class",
    description: "Normal, reactive, abnormal lymphocytes and blasts.",
    classes: defineClasses([
      ["normal_lymphocyte", "Normal lymphocyte"],
      ["reactive_lymphocyte", "Reactive (variant) lymphocyte"],
      ["abnormal_lymphocyte", "Abnormal (atypical) lymphocyte"],
      ["blast", "Blast"],
    ]),
  },
  {
    key: "pbc-8",
    name: "PBC 8-class",
    description: "Normal peripheral blood cells (Acevedo et al. 2020).",
    classes: defineClasses([
      ["basophil", "Basophil"],
      ["eosinophil", "Eosinophil"],
      ["erythroblast", "Erythroblast"],
      ["ig", "Immature granulocyte"],
      ["lymphocyte", "Lymphocyte"],
      ["monocyte", "Monocyte"],
      ["neutrophil", "Neutrophil"],
      ["platelet", "Platelet"],
    ]),
  },
  {
    key: "aml-15",
    name: "AML 15-class",
    description: "Matek 2019 cytomorphology classes.",
    classes: defineClasses([
      ["BAS", "Basophil"],
      ["EBO", "Erythroblast"],
      ["EOS", "Eosinophil"],
      ["KSC", "Smudge cell"],
      ["LYA", "Atypical lymphocyte"],
      ["LYT", "Typical lymphocyte"],
      ["MMZ", "Metamyelocyte"],
      ["MOB", "Monoblast"],
      ["MON", "Monocyte"],
      ["MYB", "Myelocyte"],
      ["MYO", "Myeloblast"],
      ["NGB", "Band neutrophil"],
      ["NGS", "Segmented neutrophil"],
      ["PMB", "Bilobed promyelocyte"],
      ["PMO", "Promyelocyte"],
    ]),
  },
  {
    key: "wbc-5",
    name: "WBC 5-class",
    description: "White-cell classes shared by several public sites; used for cross-site validation.",
    classes: defineClasses([
      ["neutrophil", "Neutrophil"],
      ["lymphocyte", "Lymphocyte"],
      ["monocyte", "Monocyte"],
      ["eosinophil", "Eosinophil"],
      ["basophil", "Basophil"],
    ]),
  },
];

/** The mappings live in @hemaloop/ml (the CLIs and the trainer map with them too); seeding copies them. */
export const builtInMappings: MappingDef[] = BUILT_IN_SCHEME_MAPPINGS.map((m) => ({ from: m.from, to: m.to, entries: { ...m.entries } }));
