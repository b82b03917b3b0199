/** A text field of a form; a file posted under that name reads as empty, not as "[object File]". */
export function formText(data: FormData, name: string): string {
  const value = data.get(name);
  return typeof value === "string" ? value : "";
}
