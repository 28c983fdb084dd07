export async function render(main) {
  main.textContent = "settings: not built yet";
}
