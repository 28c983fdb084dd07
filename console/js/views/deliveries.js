export async function render(main) {
  main.textContent = "deliveries: not built yet";
}
