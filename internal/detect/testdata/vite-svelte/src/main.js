import App from './App.svelte'
