export function pick() {
  return ["operator", render];
}
export async function render(main) {
  main.textContent = "operator: not built yet";
}
