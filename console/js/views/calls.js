export async function render(main) {
  main.textContent = "calls: not built yet";
}
