export function greeting(name) {
  return `Hello from ${name}, built by Vite`
}
