export async function render(main) {
  main.textContent = "sandbox: not built yet";
}
