export async function render(main) {
  main.textContent = "call: not built yet";
}
