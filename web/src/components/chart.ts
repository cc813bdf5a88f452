/**
 * chart.js, registered once with only what our charts use (bars, category and linear
 * scales, tooltip, legend), so the bundle carries no line, pie or time-scale code.
 */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);
Chart.defaults.font.family = getComputedStyle(document.body).fontFamily || 'system-ui, sans-serif';
Chart.defaults.color = '#475467';
// People who asked their system for less motion get charts drawn at once.
Chart.defaults.animation = window.matchMedia?.('(prefers-reduced-motion: reduce)').matches ? false : { duration: 250 };

export { Chart };
export const PALETTE = ['#2456d6', '#12b76a', '#f79009', '#7a5af8', '#ee46bc', '#06aed4', '#667085'];
