document.querySelector('#app').innerHTML = 'hi'
