"""What runs on a website: the first-party snippet (/t.js) and the demo website (/demo-site/)."""
