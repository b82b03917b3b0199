/** A text field of a submitted form ("" when absent; file inputs are not text). */
export function formText(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === "string" ? value : "";
}
