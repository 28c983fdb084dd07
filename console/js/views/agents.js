export async function render(main) {
  main.textContent = "agents: not built yet";
}
