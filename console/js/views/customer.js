export async function render(main) {
  main.textContent = "customer: not built yet";
}
