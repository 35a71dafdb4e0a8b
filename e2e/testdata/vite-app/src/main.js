import './style.css'
import { greeting } from './greeting.js'

document.querySelector('#app').innerHTML = `<h1>${greeting('SkyDeploy')}</h1>`
console.log('vite-fixture-marker-42')
